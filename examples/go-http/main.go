// An Azure Functions custom handler in Go, the pattern of the Azure quickstart: the Functions host
// starts this executable, tells it the port in FUNCTIONS_CUSTOMHANDLER_PORT and forwards the
// HttpExample function's requests to /api/HttpExample (enableForwardingHttpRequest in host.json).
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/AirlockExamples/greeting"
)

func httpExample(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		fmt.Fprint(w, "This HTTP triggered function executed successfully. Pass a name in the query string for a personalized response.")
		return
	}
	fmt.Fprint(w, greeting.Hello(name))
}

func main() {
	port, ok := os.LookupEnv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if !ok {
		port = "8080"
	}
	http.HandleFunc("/api/HttpExample", httpExample)
	log.Printf("listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}

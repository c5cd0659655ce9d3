// A minimal Azure Functions custom handler in Go, used by `make demo`.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func hello(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "Hello, %s!\n", name)
}

func main() {
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/api/hello", hello)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}

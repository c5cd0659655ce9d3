// Package greeting is a fixture module for Airlock's Go example: a third-party module in
// miniature, served by a GOPROXY on 127.0.0.1 (scripts/goproxy-serve.py) because the public
// module proxy is not reachable where Airlock's tests run.
package greeting

// Hello is the greeting the example's function answers with: "Hello, NAME."
func Hello(name string) string {
	return "Hello, " + name + "."
}

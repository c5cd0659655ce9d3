module "example.com/q" // comment
go 1.21
require `example.com/r` v1.2.3
retract [v1.0.0, v1.0.5]
godebug default=go1.21

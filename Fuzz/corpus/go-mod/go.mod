module example.com/demo

go 1.22.1

toolchain go1.22.3

require (
	github.com/google/uuid v1.6.0
	golang.org/x/text v0.14.0 // indirect
)

replace golang.org/x/text => ./text

exclude example.com/bad v1.0.0
module example.com/go-http

go 1.22.10

require github.com/AirlockExamples/greeting v1.0.0

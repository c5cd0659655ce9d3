module github.com/AirlockExamples/greeting

go 1.21

module intake.local/pause

go 1.24

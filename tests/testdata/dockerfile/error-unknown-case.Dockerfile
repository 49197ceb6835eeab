FROM alpine
run echo fine
Copyy a b

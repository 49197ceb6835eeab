# escape=`
# syntax=x
# escape=\
FROM alpine

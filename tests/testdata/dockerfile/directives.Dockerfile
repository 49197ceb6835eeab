# syntax=docker/dockerfile:1.7
#CHECK = skip=JSONArgsRecommended;error=true
# escape=\

# escape=`
# The comment above is an ordinary comment: directives ended at the blank line.
# This one sits right above FROM.
FROM alpine
#
# After an empty comment only this line is kept.
RUN echo ok

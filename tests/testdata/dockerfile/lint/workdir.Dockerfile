# opt: all-stages=true
FROM scratch AS a
WORKDIR app
WORKDIR sub
FROM a
WORKDIR rel
FROM scratch
WORKDIR /abs
WORKDIR rel2

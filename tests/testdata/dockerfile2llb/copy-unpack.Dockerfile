FROM scratch
COPY --unpack=true a.tar /

FROM scratch
ADD --unpack=yes https://example.com/a.tar /

FROM scratch
ADD --unpack=true https://example.com/dl/archive.tar.gz /download/
ADD --unpack https://example.com/other.tgz /other/
ADD --unpack=false https://example.com/kept.tar /kept/
ADD --unpack=false archive.tar.gz /opt/
ADD --unpack=true local.tar /local/

FROM base:1
RUN <<EOF
echo one
echo two
EOF
RUN <<EOT
#!/bin/sh
echo from a script
EOT
RUN cat <<A > /a && cat <<-B > /b
alpha
A
	beta
	B

FROM alpine
RUN <<EOF
echo "hello $USER"
echo second line
EOF
RUN <<-END
	echo tabs are stripped by the build, not by the parser
	END
RUN <<"EOF"
echo "$NOT_EXPANDED"
EOF
RUN <<'EOF' cat > /greeting
hello
EOF
RUN python3 <<E"O"F
print("quoted in part")
EOF
COPY <<one <<two /dest/
first file
one
second file
two
RUN 3<<FD cat /proc/self/fd/3
via fd 3
FD
RUN cat << SPACED
spaced marker
SPACED
ONBUILD RUN <<EOF
echo later
EOF
RUN ["cat", "<<EOF"]
CMD cat <<EOF
RUN echo no heredoc <<
ADD <<-"TAB" /x
		indented
	TAB
RUN <<EOF
EOF
RUN echo <<-EOF
not a terminator: EOF
	  EOF
EOF

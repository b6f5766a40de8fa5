#!/bin/sh
# A FAKE compose v1 (as Debian 12's docker-compose 1.29 answers `version --short`): the
# dashboard must refuse it with a message instead of running it.
if [ "$1" = "version" ]; then echo "1.29.2"; exit 0; fi
echo "fake compose v1 must never be run" >&2
exit 3

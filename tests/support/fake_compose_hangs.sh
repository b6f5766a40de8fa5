#!/bin/sh
# A FAKE compose binary that hangs: it says it is compose v2 (so the dashboard takes it),
# then never finishes any command, with a child of its own holding the output open. It
# proves the run's deadline: the whole process group is killed and the page says so. The
# pids it leaves are written to /tmp/fake-compose-hangs-<project>.pids for the test to check.
if [ "$1" = "version" ]; then echo "2.99.0-fake"; exit 0; fi
project=unknown
while [ $# -gt 0 ]; do
  if [ "$1" = "-p" ]; then project=$2; fi
  shift
done
echo "fake compose: hanging on purpose"
sleep 60 &
echo "$$ $!" > "/tmp/fake-compose-hangs-$project.pids"
wait

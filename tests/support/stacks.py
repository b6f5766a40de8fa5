"""Stack files for the swarm stack tests: every service labelled as this run's (the swarm
fixture removes what a failed test leaves), images the lab has on every node."""

from __future__ import annotations

from .lab import LAB_IMAGE, RUN_ID, TEST_LABEL

# One replica and no placement rule: a stack any swarm runs, a single node too (Docker 26).
SMALL_STACK = """\
services:
  app:
    image: {image}
    command: ["sleep", "3000"]
    stop_grace_period: 1s
    deploy:
      labels: {{{label}: "{run}"}}
"""

# Two replicas, at most one per node: one on each of the two lab nodes. Labelled as this
# run's (the swarm fixture removes what is left); GREETING comes from the stack's .env.
STACK_FILE = """\
services:
  web:
    image: {image}
    command: ["sh", "-c", "while true; do echo $$GREETING from $$(hostname); sleep 0.5; done"]
    environment:
      GREETING: ${{GREETING}}
    stop_grace_period: 1s
    deploy:
      replicas: {replicas}
      labels: {{{label}: "{run}"}}
      placement:
        max_replicas_per_node: 1
      update_config:
        parallelism: 0
        monitor: 1s
"""


def stack_file(replicas: int) -> str:
    return STACK_FILE.format(image=LAB_IMAGE, replicas=replicas, label=TEST_LABEL, run=RUN_ID)


def small_stack() -> str:
    return SMALL_STACK.format(image=LAB_IMAGE, label=TEST_LABEL, run=RUN_ID)

#!/usr/bin/env bash
# Placeholder until the control-plane harness lands (issue 3).
exit 0

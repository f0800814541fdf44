#!/usr/bin/env bats
load microvm-lib
@test "placeholder" { skip todo; }

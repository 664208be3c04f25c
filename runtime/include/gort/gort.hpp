// gort.hpp - everything a gort program needs.
#pragma once

#include "gort/blocking.hpp"
#include "gort/go.hpp"
#include "gort/run.hpp"
#include "gort/time.hpp"
#include "gort/wait_group.hpp"

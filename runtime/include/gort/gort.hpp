// gort.hpp - everything a gort program needs.
#pragma once

#include "gort/blocking.hpp"
#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/run.hpp"
#include "gort/select.hpp"
#include "gort/time.hpp"
#include "gort/wait_group.hpp"

// gort.hpp - everything a gort program needs.
#pragma once

#include "gort/blocking.hpp"
#include "gort/chan.hpp"
#include "gort/cond.hpp"
#include "gort/context.hpp"
#include "gort/errgroup.hpp"
#include "gort/go.hpp"
#include "gort/mutex.hpp"
#include "gort/once.hpp"
#include "gort/run.hpp"
#include "gort/rw_mutex.hpp"
#include "gort/select.hpp"
#include "gort/semaphore.hpp"
#include "gort/time.hpp"
#include "gort/wait_group.hpp"

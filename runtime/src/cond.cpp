// cond.cpp - gort::Cond is header-only over detail::NotifyList
// (scheduler/notify_list.cpp); this file keeps the one-file-per-mechanism map.
#include "gort/cond.hpp"

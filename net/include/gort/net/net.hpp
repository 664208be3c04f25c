// net.hpp - gort's networking (Go: net).
#pragma once

#include "gort/net/address.hpp"
#include "gort/net/conn.hpp"
#include "gort/net/error.hpp"
#include "gort/net/listener.hpp"

// http.hpp - gort's HTTP/1.1 server (Go: net/http, server side).
#pragma once

#include "gort/http/body.hpp"
#include "gort/http/error.hpp"
#include "gort/http/header.hpp"
#include "gort/http/request.hpp"
#include "gort/http/response_writer.hpp"
#include "gort/http/serve_mux.hpp"
#include "gort/http/server.hpp"
#include "gort/http/status.hpp"

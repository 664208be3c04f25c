// header.cpp - see header.hpp.
#include "gort/http/header.hpp"

#include <algorithm>
#include <stdexcept>

namespace gort::http {

namespace {
char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); i++) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool valid_field_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    bool tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c != 0 && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos);
    if (!tchar) return false;
  }
  return true;
}

bool valid_field_value(std::string_view value) noexcept {
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

Header::Field Header::at(std::size_t i) const noexcept {
  const Slot& s = fields_[i];
  return {std::string_view(arena_).substr(s.name_off, s.name_len),
          std::string_view(arena_).substr(s.value_off, s.value_len)};
}

std::string_view Header::get(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < fields_.size(); i++) {
    Field f = at(i);
    if (iequals(f.name, name)) return f.value;
  }
  return {};
}

bool Header::has(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < fields_.size(); i++) {
    if (iequals(at(i).name, name)) return true;
  }
  return false;
}

std::vector<std::string_view> Header::values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < fields_.size(); i++) {
    Field f = at(i);
    if (iequals(f.name, name)) out.push_back(f.value);
  }
  return out;
}

std::uint32_t Header::append(std::string_view s) {
  if (arena_.size() + s.size() > UINT32_MAX) throw std::length_error("http: header too large");
  auto off = static_cast<std::uint32_t>(arena_.size());
  arena_.append(s);
  return off;
}

void Header::add(std::string_view name, std::string_view value) {
  // name and value may point into arena_ itself (copying a field): append
  // through offsets, which survive the arena's reallocation.
  Slot s{};
  s.name_len = static_cast<std::uint32_t>(name.size());
  s.value_len = static_cast<std::uint32_t>(value.size());
  std::string copy;
  if (!arena_.empty() && ((name.data() >= arena_.data() && name.data() < arena_.data() + arena_.size()) ||
                          (value.data() >= arena_.data() && value.data() < arena_.data() + arena_.size()))) {
    copy.assign(name).append(value);
    name = std::string_view(copy).substr(0, s.name_len);
    value = std::string_view(copy).substr(s.name_len);
  }
  s.name_off = append(name);
  s.value_off = append(value);
  fields_.push_back(s);
}

void Header::set(std::string_view name, std::string_view value) {
  del(name);  // leaves the arena's bytes in place, so name/value stay valid
  add(name, value);
}

void Header::del(std::string_view name) noexcept {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Slot& s) {
                                 return iequals(std::string_view(arena_).substr(s.name_off, s.name_len), name);
                               }),
                fields_.end());
}

void Header::clear() noexcept {
  fields_.clear();
  arena_.clear();
}

void Header::shrink(std::size_t keep_bytes) noexcept {
  clear();
  if (arena_.capacity() > keep_bytes) std::string().swap(arena_);
  if (fields_.capacity() * sizeof(Slot) > keep_bytes) std::vector<Slot>().swap(fields_);
}

}  // namespace gort::http

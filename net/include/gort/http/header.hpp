// header.hpp - HTTP header fields (Go: net/http.Header).
//
//   w.header().set("Content-Type", "text/plain; charset=utf-8");
//   std::string_view ua = req.header.get("user-agent");   // names compare case-insensitively
//
// An ordered list of (name, value) fields kept in one arena string: a
// request's fields are copied out of the connection's read buffer without an
// allocation per field, and clear() keeps the capacity, so a connection
// serving many requests stops allocating for headers after the first one.
// Names are stored as given; lookups ignore ASCII case (Go canonicalises
// "content-type" to "Content-Type" instead; the effect on lookups is the
// same, and responses keep the spelling the handler used).
//
// Views returned by get()/values()/iteration stay valid until the header is
// modified or cleared.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gort::http {

// Go: httpguts.ValidHeaderFieldName: a non-empty RFC 9110 token.
bool valid_field_name(std::string_view name) noexcept;
// Go: httpguts.ValidHeaderFieldValue: no control bytes other than HTAB
// (so no CR, LF or NUL).
bool valid_field_value(std::string_view value) noexcept;

class Header {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;
  };

  // The first value of name, or "" (Go: Header.Get).
  std::string_view get(std::string_view name) const noexcept;
  bool has(std::string_view name) const noexcept;
  // Every value of name, in order (Go: Header.Values).
  std::vector<std::string_view> values(std::string_view name) const;
  // Replaces every field called name by one (Go: Header.Set).
  void set(std::string_view name, std::string_view value);
  // Appends a field (Go: Header.Add).
  void add(std::string_view name, std::string_view value);
  // Removes every field called name (Go: Header.Del).
  void del(std::string_view name) noexcept;
  void clear() noexcept;
  // Clears, and gives back the memory if more than keep_bytes were held.
  void shrink(std::size_t keep_bytes) noexcept;
  // Bytes of memory held (the arena's and the field table's capacity).
  std::size_t memory() const noexcept { return arena_.capacity() + fields_.capacity() * sizeof(Slot); }
  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }

  // Iteration in insertion order, as Field views.
  class const_iterator {
   public:
    using value_type = Field;
    using difference_type = std::ptrdiff_t;
    const_iterator() = default;
    Field operator*() const noexcept { return h_->at(i_); }
    const_iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) noexcept {
      auto t = *this;
      ++i_;
      return t;
    }
    bool operator==(const const_iterator& o) const noexcept { return i_ == o.i_; }

   private:
    friend class Header;
    const_iterator(const Header* h, std::size_t i) : h_(h), i_(i) {}
    const Header* h_ = nullptr;
    std::size_t i_ = 0;
  };
  const_iterator begin() const noexcept { return {this, 0}; }
  const_iterator end() const noexcept { return {this, fields_.size()}; }
  Field at(std::size_t i) const noexcept;

 private:
  struct Slot {
    std::uint32_t name_off, name_len, value_off, value_len;
  };
  std::uint32_t append(std::string_view s);
  std::vector<Slot> fields_;
  std::string arena_;
};

// ASCII case-insensitive comparison (header names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;
// Whether a comma-separated header value contains token (case-insensitive),
// e.g. has_token("keep-alive, Upgrade", "upgrade").
bool has_token(std::string_view value, std::string_view token) noexcept;

}  // namespace gort::http

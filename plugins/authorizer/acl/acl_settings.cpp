#include "authorizer/acl/acl_settings.hpp"

#include <optional>

#include "authorizer/acl/acl_binding.hpp"

namespace keel::acl {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Whether `p` holds ",<letters>:" at an unescaped comma, as in
// "User:admin,User:ops": two principals joined the way super.users is
// often misremembered. That form would pass as one principal that no
// client ever has, silently leaving both without their rights. A DN never
// holds it (after a DN's comma comes an attribute type and '=').
bool joined_by_comma(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != ',' || (i > 0 && p[i - 1] == '\\')) continue;
    size_t j = i + 1;
    while (j < p.size() && is_blank(p[j])) ++j;
    const size_t letters = j;
    while (j < p.size() && is_letter(p[j])) ++j;
    if (j > letters && j < p.size() && p[j] == ':') return true;
  }
  return false;
}

[[noreturn]] void refuse(std::string_view entry, const std::string& why) {
  throw keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                         "acl authorizer: super_users: '" + std::string(entry) + "' " + why +
                             "; write principals as Type:name separated by ';', e.g. "
                             "\"User:admin;User:CN=ops,O=Example\"");
}

}  // namespace

// The first ';' that separates principals: an escaped one ("\;", as RFC
// 2253 writes a ';' inside a certificate subject) belongs to the name.
size_t separator(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == ';' && (i == 0 || value[i - 1] != '\\')) return i;
  }
  return std::string_view::npos;
}

std::set<std::string> parse_super_users(std::string_view value) {
  std::set<std::string> out;
  while (!value.empty()) {
    const size_t semi = separator(value);
    const std::string_view entry = trimmed(value.substr(0, semi));
    value = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
    if (entry.empty()) continue;  // "a;;b" or a trailing ';' grant nothing: harmless
    if (!is_principal(entry)) refuse(entry, "is not a principal");
    if (joined_by_comma(entry)) refuse(entry, "looks like several principals joined by ','");
    out.emplace(entry);
  }
  return out;
}

AclSettings AclSettings::read(const keel::sdk::Config& config) {
  AclSettings s;
  // Every key is read before the first error is thrown: a key left unread
  // would be reported as unknown beside the real error.
  std::optional<keel::sdk::Error> first_error;
  const auto reading = [&first_error](auto&& read) {
    try {
      read();
    } catch (const keel::sdk::Error& e) {
      if (!first_error) first_error = e;
    }
  };
  std::string super_users;
  reading([&] { super_users = config.get_string("super_users", ""); });
  reading([&] {
    s.allow_everyone_if_no_acl_found =
        config.get_bool("allow_everyone_if_no_acl_found", s.allow_everyone_if_no_acl_found);
  });
  if (first_error) throw *first_error;
  s.super_users = parse_super_users(super_users);
  return s;
}

}  // namespace keel::acl

// Parsing of WWW-Authenticate headers (RFC 7235 challenges).
#include "registry/auth.h"

namespace kiln::registry {

namespace {

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (char k : std::string_view("!#$%&'*+-.^_`|~/")) {
    if (c == k) return true;
  }
  return false;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  size_t pos() const { return i_; }
  void reset(size_t p) { i_ = p; }
  void Consume() { i_++; }
  void SkipSpace() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) i_++;
  }
  void SkipSpaceAndCommas() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) i_++;
  }
  std::string_view Token() {
    size_t start = i_;
    while (!done() && IsTokenChar(s_[i_])) i_++;
    return s_.substr(start, i_ - start);
  }
  // After the opening quote: up to the closing one, unescaping backslashes.
  Result<std::string> Quoted() {
    std::string out;
    i_++;  // opening quote
    while (!done()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) break;
        c = s_[i_++];
      }
      out.push_back(c);
    }
    return InvalidArgument("WWW-Authenticate \"" + std::string(s_.substr(0, 200)) +
                           "\": unterminated quoted string");
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<std::vector<Challenge>> ParseWWWAuthenticate(std::string_view header) {
  std::vector<Challenge> out;
  Scanner sc(header);
  auto bad = [&](std::string_view why) {
    return InvalidArgument("WWW-Authenticate \"" + std::string(header.substr(0, 200)) +
                           "\": " + std::string(why));
  };
  sc.SkipSpaceAndCommas();
  while (!sc.done()) {
    std::string_view scheme = sc.Token();
    if (scheme.empty()) return bad("want an auth scheme");
    Challenge c;
    c.scheme = Lower(scheme);
    sc.SkipSpace();
    // Params until something that is not "name=" (the next challenge's scheme) or the end.
    for (;;) {
      size_t mark = sc.pos();
      sc.SkipSpaceAndCommas();
      std::string_view name = sc.Token();
      sc.SkipSpace();
      if (name.empty() || sc.peek() != '=') {
        sc.reset(mark);
        break;
      }
      sc.Consume();  // '='
      if (sc.done() || sc.peek() == '=' || sc.peek() == ',') {
        // token68 ("abc=="): kept whole under the empty name.
        std::string t68 = std::string(name) + "=";
        while (sc.peek() == '=') {
          sc.Consume();
          t68 += "=";
        }
        c.params[""] = t68;
        continue;
      }
      sc.SkipSpace();
      std::string value;
      if (sc.peek() == '"') {
        KILN_ASSIGN_OR_RETURN(value, sc.Quoted());
      } else {
        value = std::string(sc.Token());
      }
      c.params[Lower(name)] = std::move(value);
      sc.SkipSpace();
      if (!sc.done() && sc.peek() != ',') return bad("want ',' between parameters");
    }
    out.push_back(std::move(c));
    size_t before = sc.pos();
    sc.SkipSpaceAndCommas();
    if (!sc.done() && sc.pos() == before) return bad("want ',' between challenges");
  }
  if (out.empty()) return bad("no challenge");
  return out;
}

}  // namespace kiln::registry

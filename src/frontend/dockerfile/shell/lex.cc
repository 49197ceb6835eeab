#include "frontend/dockerfile/shell/lex.h"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "frontend/dockerfile/shell/pattern.h"
#include "frontend/dockerfile/shell/scanner.h"
#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile {

namespace {

using internal::AppendRune;
using internal::IsSpace;
using internal::kEof;
using internal::RuneScanner;

std::string RuneString(char32_t r) {
  std::string s;
  AppendRune(&s, r);
  return s;
}

bool IsSpecialParam(char32_t r) {
  switch (r) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

// Fields being built while a word is processed. `buf` is shared by all nested levels of one
// word, as in BuildKit (a nested level starts by clearing it).
class Fields {
 public:
  explicit Fields(std::string* buf) : buf_(buf) {}

  void AddChar(char32_t ch) {
    if (IsSpace(ch) && in_word_) {
      if (!buf_->empty()) {
        words_.push_back(std::move(*buf_));
        buf_->clear();
        in_word_ = false;
      }
    } else if (!IsSpace(ch)) {
      AddRawChar(ch);
    }
  }
  void AddRawChar(char32_t ch) {
    AppendRune(buf_, ch);
    in_word_ = true;
  }
  void AddString(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      internal::DecodedRune d = internal::DecodeRune(s, i);
      AddChar(d.rune);
      i += d.width;
    }
  }
  void AddRawString(std::string_view s) {
    buf_->append(s);
    in_word_ = true;
  }
  std::vector<std::string> Take() {
    if (!buf_->empty()) {
      words_.push_back(std::move(*buf_));
      buf_->clear();
      in_word_ = false;
    }
    return std::move(words_);
  }

 private:
  std::string* buf_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

class Env {
 public:
  explicit Env(const std::vector<std::string>& entries) {
    for (const std::string& e : entries) {
      size_t eq = e.find('=');
      std::string_view sv(e);
      if (eq == std::string::npos) {
        kv_.emplace_back(sv, std::string_view());
      } else {
        kv_.emplace_back(sv.substr(0, eq), sv.substr(eq + 1));
      }
    }
  }
  std::optional<std::string_view> Get(std::string_view key) const {
    for (auto it = kv_.rbegin(); it != kv_.rend(); ++it) {
      if (it->first == key) return it->second;
    }
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string_view, std::string_view>> kv_;
};

struct Processed {
  std::string result;
  std::vector<std::string> words;
};

// Expansions nest (`${a:-${b:-...}}`) through recursion; BuildKit has no limit, we stop at a
// depth no Dockerfile needs so hostile input cannot exhaust the stack.
constexpr int kMaxNesting = 100;

// One word being processed (BuildKit's shellWord).
class WordProcessor {
 public:
  WordProcessor(std::string_view word, char32_t escape, const ShellLexOptions& options,
                const Env& env, bool capture, ProcessWordResult* matches)
      : scanner_(word),
        escape_(escape),
        options_(options),
        env_(env),
        capture_(capture),
        matches_(matches),
        raw_escapes_(options.raw_escapes) {}

  Result<Processed> ProcessStopOn(char32_t stop, bool raw_escapes);

 private:
  Result<std::string> SingleQuote();
  Result<std::string> DoubleQuote();
  Result<std::string> Dollar();
  Result<std::string> Modifier(const std::string& name, char32_t op, bool null_is_unset,
                               const std::string& op_text);
  Result<std::string> Substitution(const std::string& name);
  std::string PossibleHeredoc();
  std::string Name();
  std::optional<std::string> GetEnv(const std::string& name);

  RuneScanner scanner_;
  char32_t escape_;
  const ShellLexOptions& options_;
  const Env& env_;
  bool capture_;
  ProcessWordResult* matches_;
  bool raw_escapes_;
  int depth_ = 0;  // ProcessStopOn levels, one per ${name<op>...} being read
  std::string fields_buf_;
};

Result<Processed> WordProcessor::ProcessStopOn(char32_t stop, bool raw_escapes) {
  if (depth_ >= kMaxNesting) {
    return InvalidArgument(
        fmt::format("syntax error: more than {} nested expansions", kMaxNesting));
  }
  std::string result;
  fields_buf_.clear();
  Fields fields(&fields_buf_);
  struct Restore {
    WordProcessor* p;
    bool raw_escapes;
    ~Restore() {
      p->raw_escapes_ = raw_escapes;
      p->depth_--;
    }
  } restore{this, raw_escapes_};
  raw_escapes_ = raw_escapes;
  depth_++;

  while (scanner_.Peek() != kEof) {
    char32_t ch = scanner_.Peek();
    if (stop != kEof && ch == stop) {
      scanner_.Next();
      return Processed{std::move(result), fields.Take()};
    }
    bool quote = !options_.skip_process_quotes && (ch == '\'' || ch == '"');
    if (ch == '$' || ch == '<' || quote) {
      Result<std::string> part = ch == '$'    ? Dollar()
                                 : ch == '<'  ? Result<std::string>(PossibleHeredoc())
                                 : ch == '\'' ? SingleQuote()
                                              : DoubleQuote();
      if (!part.ok()) return part.status();
      result += *part;
      if (ch == '$') {
        fields.AddString(*part);
      } else {
        fields.AddRawString(*part);
      }
      continue;
    }
    ch = scanner_.Next();
    if (ch == escape_) {
      if (raw_escapes_) {
        fields.AddRawChar(ch);
        AppendRune(&result, ch);
      }
      ch = scanner_.Next();
      if (ch == kEof) break;  // an escape at the end of the word is dropped
      fields.AddRawChar(ch);
    } else {
      fields.AddChar(ch);
    }
    AppendRune(&result, ch);
  }
  if (stop != kEof) {
    return InvalidArgument("unexpected end of statement while looking for matching " +
                           RuneString(stop));
  }
  return Processed{std::move(result), fields.Take()};
}

Result<std::string> WordProcessor::SingleQuote() {
  std::string result;
  char32_t ch = scanner_.Next();
  if (options_.raw_quotes) AppendRune(&result, ch);
  while (true) {
    ch = scanner_.Next();
    if (ch == kEof) {
      return InvalidArgument("unexpected end of statement while looking for matching single-quote");
    }
    if (ch == '\'') {
      if (options_.raw_quotes) AppendRune(&result, ch);
      return result;
    }
    AppendRune(&result, ch);
  }
}

Result<std::string> WordProcessor::DoubleQuote() {
  std::string result;
  char32_t ch = scanner_.Next();
  if (options_.raw_quotes) AppendRune(&result, ch);
  while (true) {
    char32_t next = scanner_.Peek();
    if (next == kEof) {
      return InvalidArgument("unexpected end of statement while looking for matching double-quote");
    }
    if (next == '"') {
      ch = scanner_.Next();
      if (options_.raw_quotes) AppendRune(&result, ch);
      return result;
    }
    if (next == '$') {
      KILN_ASSIGN_OR_RETURN(std::string value, Dollar());
      result += value;
      continue;
    }
    ch = scanner_.Next();
    if (ch == escape_) {
      if (raw_escapes_) AppendRune(&result, ch);
      char32_t after = scanner_.Peek();
      if (after == kEof) continue;  // reported as the missing closing quote
      if (after == '"' || after == '$' || after == escape_) ch = scanner_.Next();
    }
    AppendRune(&result, ch);
  }
}

std::string WordProcessor::Name() {
  std::string name;
  while (scanner_.Peek() != kEof) {
    char32_t ch = scanner_.Peek();
    if (name.empty() && internal::IsDigit(ch)) {
      while (scanner_.Peek() != kEof && internal::IsDigit(scanner_.Peek())) {
        AppendRune(&name, scanner_.Next());
      }
      return name;
    }
    if (name.empty() && IsSpecialParam(ch)) return RuneString(scanner_.Next());
    if (!internal::IsLetter(ch) && !internal::IsDigit(ch) && ch != '_') break;
    AppendRune(&name, scanner_.Next());
  }
  return name;
}

std::optional<std::string> WordProcessor::GetEnv(const std::string& name) {
  std::optional<std::string_view> v = env_.Get(name);
  if (capture_) (v ? matches_->matched : matches_->unmatched).insert(name);
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::string WordProcessor::PossibleHeredoc() {
  scanner_.Next();
  if (scanner_.Peek() != '<') return "<";
  scanner_.Next();
  std::string result = "<<";
  while (scanner_.Peek() == '\t' || scanner_.Peek() == '\r' || scanner_.Peek() == ' ') {
    AppendRune(&result, scanner_.Next());
  }
  return result;
}

Result<std::string> WordProcessor::Dollar() {
  scanner_.Next();  // '$'
  if (scanner_.Peek() != '{') {
    std::string name = Name();
    if (name.empty()) return std::string("$");
    std::optional<std::string> value = GetEnv(name);
    if (!value && options_.skip_unset_env) return "$" + name;
    return value.value_or("");
  }
  scanner_.Next();  // '{'
  switch (scanner_.Peek()) {
    case kEof:
      return InvalidArgument("syntax error: missing '}'");
    case '{':
    case '}':
    case ':':
      return InvalidArgument("syntax error: bad substitution");
    default:
      break;
  }
  std::string name = Name();
  char32_t ch = scanner_.Next();
  std::string op_text = RuneString(ch);
  switch (ch) {
    case '}': {
      std::optional<std::string> value = GetEnv(name);
      if (!value && options_.skip_unset_env) return "${" + name + "}";
      return value.value_or("");
    }
    case ':':
      ch = scanner_.Next();
      op_text += RuneString(ch);
      return Modifier(name, ch, /*null_is_unset=*/true, op_text);
    case '+':
    case '-':
    case '?':
    case '#':
    case '%':
      return Modifier(name, ch, /*null_is_unset=*/false, op_text);
    case '/':
      return Substitution(name);
    default:
      return InvalidArgument(fmt::format("unsupported modifier ({}) in substitution", op_text));
  }
}

Result<std::string> WordProcessor::Modifier(const std::string& name, char32_t op,
                                            bool null_is_unset, const std::string& op_text) {
  bool trim = op == '#' || op == '%';
  if (null_is_unset && trim) {
    return InvalidArgument(fmt::format("unsupported modifier ({}) in substitution", op_text));
  }
  Result<Processed> arg = ProcessStopOn('}', /*raw_escapes=*/trim);
  if (!arg.ok()) {
    if (scanner_.Peek() == kEof) return InvalidArgument("syntax error: missing '}'");
    return arg.status();
  }
  std::string word = std::move(arg->result);
  std::optional<std::string> value = GetEnv(name);
  if (!value && options_.skip_unset_env) return "${" + name + op_text + word + "}";
  bool empty = !value || (null_is_unset && value->empty());
  switch (op) {
    case '-':
      return empty ? word : *value;
    case '+':
      return empty ? std::string() : word;
    case '?':
      if (!value) {
        return InvalidArgument(
            fmt::format("{}: {}", name, word.empty() ? "is not allowed to be unset" : word));
      }
      if (null_is_unset && value->empty()) {
        return InvalidArgument(
            fmt::format("{}: {}", name, word.empty() ? "is not allowed to be empty" : word));
      }
      return *value;
    case '#':
    case '%': {
      bool greedy = !word.empty() && static_cast<unsigned char>(word[0]) == op;
      std::string_view pattern = word;
      if (greedy) pattern.remove_prefix(1);
      std::string subject = value.value_or("");
      return op == '%' ? internal::TrimSuffix(pattern, subject, greedy)
                       : internal::TrimPrefix(pattern, subject, greedy);
    }
    default:
      return InvalidArgument(fmt::format("unsupported modifier ({}) in substitution", op_text));
  }
}

Result<std::string> WordProcessor::Substitution(const std::string& name) {
  bool all = scanner_.Peek() == '/';
  if (all) scanner_.Next();
  Result<Processed> pattern = ProcessStopOn('/', /*raw_escapes=*/true);
  if (!pattern.ok()) {
    if (scanner_.Peek() == kEof) return InvalidArgument("syntax error: missing '/' in ${}");
    return pattern.status();
  }
  Result<Processed> replacement = ProcessStopOn('}', /*raw_escapes=*/true);
  if (!replacement.ok()) {
    if (scanner_.Peek() == kEof) return InvalidArgument("syntax error: missing '}'");
    return replacement.status();
  }
  std::optional<std::string> value = GetEnv(name);
  if (!value && options_.skip_unset_env) {
    return "${" + name + "/" + pattern->result + "/" + replacement->result + "}";
  }
  return internal::Replace(pattern->result, value.value_or(""), replacement->result, all);
}

}  // namespace

Result<ProcessWordResult> ShellLex::Process(std::string_view word,
                                            const std::vector<std::string>& env,
                                            bool capture) const {
  Env lookup(env);
  ProcessWordResult out;
  WordProcessor p(word, escape_, options_, lookup, capture, &out);
  Result<Processed> r = p.ProcessStopOn(kEof, options_.raw_escapes);
  if (!r.ok()) return r.status().Annotate("failed to process " + internal::QuoteForMessage(word));
  out.result = std::move(r->result);
  out.words = std::move(r->words);
  return out;
}

Result<std::string> ShellLex::ProcessWord(std::string_view word,
                                          const std::vector<std::string>& env) const {
  KILN_ASSIGN_OR_RETURN(ProcessWordResult r, Process(word, env, /*capture=*/false));
  return std::move(r.result);
}

Result<std::vector<std::string>> ShellLex::ProcessWords(std::string_view word,
                                                        const std::vector<std::string>& env) const {
  KILN_ASSIGN_OR_RETURN(ProcessWordResult r, Process(word, env, /*capture=*/false));
  return std::move(r.words);
}

Result<ProcessWordResult> ShellLex::ProcessWordWithMatches(
    std::string_view word, const std::vector<std::string>& env) const {
  return Process(word, env, /*capture=*/true);
}

}  // namespace kiln::dockerfile

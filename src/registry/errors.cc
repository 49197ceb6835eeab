#include "registry/errors.h"

#include "registry/json_fields.h"

namespace kiln::registry {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string StatusText(int status) {
  std::string s = std::to_string(status);
  if (auto r = Reason(status); !r.empty()) s += " " + std::string(r);
  return s;
}

}  // namespace

std::string RegistryErrorMessage(std::string_view body) {
  auto j = internal::Json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "";
  auto it = j.find("errors");
  if (it == j.end() || !it->is_array()) return "";
  std::string out;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    std::string code, message;
    if (auto c = e.find("code"); c != e.end() && c->is_string())
      code = Lower(c->get<std::string>());
    if (auto m = e.find("message"); m != e.end() && m->is_string()) message = m->get<std::string>();
    std::string one = code.empty() ? message : message.empty() ? code : code + ": " + message;
    if (one.empty()) continue;
    out += (out.empty() ? "" : "; ") + one;
  }
  return out;
}

Status ResponseError(const HttpResponse& r, std::string_view image, std::string_view name,
                     std::string_view what, std::string_view host, int attempts,
                     std::string_view action) {
  std::string msg = RegistryErrorMessage(r.body);
  std::string subject(image);
  if (!what.empty()) subject += ": " + std::string(what);
  auto with_msg = [&](std::string s) { return msg.empty() ? s : s + ": " + msg; };
  switch (r.status) {
    case 404:
      return NotFound(subject + ": not found");
    case 401:
      return Status(Code::kUnauthenticated,
                    std::string(action) + " access denied for " + std::string(name) +
                        ", repository does not exist or may require authorization: " +
                        (msg.empty() ? std::string("unauthorized") : msg));
    case 403:
      return PermissionDenied(
          with_msg(subject + ": access denied by " + std::string(host) + " (403 Forbidden)"));
    case 429:
      return ResourceExhausted(with_msg(subject + ": " + std::string(host) +
                                        " is rate limiting (429 Too Many Requests)"));
    default:
      break;
  }
  std::string s = subject + ": " + std::string(host) + " answered " + StatusText(r.status);
  if (attempts > 1) s += " (" + std::to_string(attempts) + " attempts)";
  if (r.status >= 500) return Unavailable(with_msg(s));
  return Status(Code::kUnknown, with_msg(s));
}

bool RetryableStatus(int status) {
  return status == 429 || (status >= 500 && status != 501 && status != 505);
}

}  // namespace kiln::registry

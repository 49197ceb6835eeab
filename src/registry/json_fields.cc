#include "registry/json_fields.h"

namespace kiln::registry::internal {

Result<Json> ParseJson(std::string_view bytes, std::string_view where) {
  Json j = Json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) return InvalidArgument(std::string(where) + ": invalid JSON");
  return j;
}

std::string Fields::Path(std::string_view key) const {
  if (key.empty()) return path_;
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

Status Fields::Error(std::string_view key, std::string_view what) const {
  return InvalidArgument(std::string(where_) + ": " + Path(key) + ": " + std::string(what));
}

bool Fields::Has(std::string_view key) const { return Get(key) != nullptr; }

const Json* Fields::Get(std::string_view key) const {
  if (!obj_.is_object()) return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

Status Fields::String(std::string_view key, std::string* out, bool required) const {
  const Json* v = Get(key);
  if (v == nullptr) return required ? Error(key, "missing") : Status::Ok();
  if (!v->is_string()) return Error(key, "want a string");
  *out = v->get<std::string>();
  return Status::Ok();
}

Status Fields::Int(std::string_view key, int64_t* out, bool required) const {
  const Json* v = Get(key);
  if (v == nullptr) return required ? Error(key, "missing") : Status::Ok();
  if (!v->is_number_integer()) return Error(key, "want an integer");
  *out = v->get<int64_t>();
  return Status::Ok();
}

Status Fields::Bool(std::string_view key, bool* out) const {
  const Json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) return Error(key, "want true or false");
  *out = v->get<bool>();
  return Status::Ok();
}

Status Fields::StringList(std::string_view key, std::vector<std::string>* out) const {
  const Json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_array()) return Error(key, "want a list of strings");
  out->clear();
  for (const auto& e : *v) {
    if (!e.is_string()) return Error(key, "want a list of strings");
    out->push_back(e.get<std::string>());
  }
  return Status::Ok();
}

Status Fields::OptStringList(std::string_view key,
                             std::optional<std::vector<std::string>>* out) const {
  if (!Has(key)) return Status::Ok();
  std::vector<std::string> list;
  KILN_RETURN_IF_ERROR(StringList(key, &list));
  *out = std::move(list);
  return Status::Ok();
}

Status Fields::StringMap(std::string_view key, std::map<std::string, std::string>* out) const {
  const Json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_object()) return Error(key, "want an object of strings");
  out->clear();
  for (const auto& [k, e] : v->items()) {
    if (!e.is_string()) return Error(std::string(key) + "." + k, "want a string");
    (*out)[k] = e.get<std::string>();
  }
  return Status::Ok();
}

Status Fields::KeySet(std::string_view key, std::vector<std::string>* out) const {
  const Json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_object()) return Error(key, "want an object");
  out->clear();
  for (const auto& [k, e] : v->items()) out->push_back(k);
  return Status::Ok();
}

Result<const Json*> Fields::Object(std::string_view key, bool required) const {
  const Json* v = Get(key);
  if (v == nullptr) {
    if (required) return Error(key, "missing");
    return static_cast<const Json*>(nullptr);
  }
  if (!v->is_object()) return Error(key, "want an object");
  return v;
}

Result<const Json*> Fields::Array(std::string_view key, bool required) const {
  const Json* v = Get(key);
  if (v == nullptr) {
    if (required) return Error(key, "missing");
    return static_cast<const Json*>(nullptr);
  }
  if (!v->is_array()) return Error(key, "want a list");
  return v;
}

}  // namespace kiln::registry::internal

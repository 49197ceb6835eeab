// Named contexts from the client's OCI layouts: context:NAME=oci-layout://STORE[:TAG]@DIGEST
// (dockerui's "oci-layout" case). The store is what kilnctl/buildctl --oci-layout STORE=DIR
// serves in the session; the image is read from it by the daemon's oci-layout source.
#include "frontend/dockerfile/builder/named_context.h"
#include "registry/reference.h"

namespace kiln::dockerfile {

namespace {

struct OCILayoutSpec {
  std::string store;  // the reference's name: the store id
  Digest digest;
};

// STORE[:TAG]@DIGEST, as distribution's reference.Parse reads it (no normalisation).
Result<OCILayoutSpec> ParseOCILayoutSpec(const std::string& spec) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("could not parse oci-layout reference \"" + spec + "\": " + why);
  };
  size_t at = spec.rfind('@');
  std::string named = spec.substr(0, at);
  size_t colon = named.rfind(':');
  size_t slash = named.rfind('/');
  std::string store = named;
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    store = named.substr(0, colon);
  }
  if (store.empty()) return bad("invalid reference format");
  auto check = registry::ParseReference(named);
  if (!check.ok()) return bad(check.status().message());
  OCILayoutSpec out{store, {}};
  if (at == std::string::npos) {
    return InvalidArgument("oci-layout reference \"" + named + "\" has no digest");
  }
  auto d = Digest::Parse(spec.substr(at + 1));
  if (!d.ok()) return bad(d.status().message());
  out.digest = *d;
  return out;
}

}  // namespace

Result<NamedContext> NamedContexts::LoadOCILayout(const std::string& name, const std::string& key,
                                                  const std::string& spec,
                                                  const registry::Platform& platform) {
  KILN_ASSIGN_OR_RETURN(OCILayoutSpec parsed, ParseOCILayoutSpec(spec));
  // The reference the source and the progress show: the context's name (its store id may mean
  // nothing to a reader) pinned to the digest.
  auto named = registry::ParseReference(name);
  if (!named.ok()) {
    return named.status().Annotate("could not parse oci-layout reference \"" + name + "\"");
  }
  registry::Reference dummy = *named;
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  if (!tagged) dummy.tag.clear();
  dummy.digest = parsed.digest;
  const std::string ref = dummy.String();

  frontend::ResolveImageConfigOptions ro;
  ro.platform = pb::Platform();
  ro.platform->set_os(platform.os);
  ro.platform->set_architecture(platform.architecture);
  ro.platform->set_variant(platform.variant);
  ro.oci_layout = true;
  ro.session_id = bridge_.session_id();
  ro.store_id = parsed.store;
  frontend::ResolvedImageConfig resolved;
  KILN_RETURN_IF_ERROR(
      bridge_.WithProgress("[context " + key + "] load metadata for " + ref, [&]() -> Status {
        KILN_ASSIGN_OR_RETURN(resolved, bridge_.ResolveImageConfig(ctx_, ref, ro));
        return Status::Ok();
      }));

  NamedContext nc;
  nc.state = llb::State::Source("oci-layout://" + ref, {{"oci.session", bridge_.session_id()},
                                                        {"oci.store", parsed.store}})
                 .WithPlatform(platform.String())
                 .WithCustomName("[context " + key + "] OCI load from client");
  nc.config = std::move(resolved.config);
  return nc;
}

}  // namespace kiln::dockerfile

#include "source/oci_layout.h"

#include <fmt/format.h>

#include "registry/platform_manifest.h"
#include "session/content_read.h"
#include "util/go_strconv.h"

namespace kiln::source {

namespace {

constexpr int64_t kMaxManifestBytes = 4 << 20;
constexpr int64_t kMaxConfigBytes = 8 << 20;
constexpr std::string_view kScheme = "oci-layout://";

class SessionStore final : public LayoutStore {
 public:
  SessionStore(session::Manager* sessions, std::string session_id,
               std::vector<std::string> job_sessions, std::string store_id)
      : sessions_(sessions),
        session_id_(std::move(session_id)),
        job_sessions_(std::move(job_sessions)),
        store_id_(session::OCILayoutStoreId(store_id)) {}

  Result<int64_t> Size(const Context& ctx, const Digest& digest) override {
    Result<int64_t> out = Internal("no session");
    KILN_RETURN_IF_ERROR(WithSession(ctx, [&](session::Session& s) {
      out = session::ClientBlobSize(ctx, s, store_id_, digest);
      return out.status();
    }));
    return out;
  }

  Status Read(const Context& ctx, const Digest& digest,
              const std::function<Status(std::string_view)>& sink) override {
    return WithSession(ctx, [&](session::Session& s) {
      return session::ReadClientBlob(ctx, s, store_id_, digest, sink);
    });
  }

 private:
  Status WithSession(const Context& ctx, const std::function<Status(session::Session&)>& fn) {
    if (!session_id_.empty()) {
      KILN_ASSIGN_OR_RETURN(auto s, sessions_->Get(ctx, session_id_));
      return fn(*s);
    }
    Status last =
        FailedPrecondition("no session to read the client's OCI layout " + store_id_ + " from");
    for (const std::string& id : job_sessions_) {
      auto s = sessions_->Get(ctx, id);
      if (!s.ok()) {
        last = s.status();
        continue;
      }
      last = fn(**s);
      if (last.ok() || ctx.cancelled()) return last;
    }
    return last;
  }

  session::Manager* sessions_;
  const std::string session_id_;
  const std::vector<std::string> job_sessions_;
  const std::string store_id_;
};

// Puts blob `d` into the daemon's store (read from the layout unless it is there already).
Status Fetch(const Context& ctx, LayoutStore& layout, content::Store& store,
             const registry::Descriptor& d, content::Lease* lease) {
  auto fetch = [&](const Context& c, content::Writer& w) {
    return layout.Read(c, d.digest, [&w](std::string_view chunk) { return w.Write(chunk); });
  };
  return store.Ensure(ctx, d.digest, d.size, fetch, lease).status();
}

Result<std::string> FetchAll(const Context& ctx, LayoutStore& layout, content::Store& store,
                             const registry::Descriptor& d, int64_t max, const std::string& what,
                             content::Lease* lease) {
  if (d.size > max) {
    return ResourceExhausted(fmt::format("{}: {} is {} bytes, more than the limit of {}", what,
                                         d.digest.str(), d.size, max));
  }
  KILN_RETURN_IF_ERROR(Fetch(ctx, layout, store, d, lease));
  return store.ReadAll(d.digest, max);
}

}  // namespace

Result<OCILayoutIdentifier> ParseOCILayout(const pb::SourceOp& op, const pb::Platform* platform) {
  const std::string& ident = op.identifier();
  if (ident.rfind(kScheme, 0) != 0) {
    return InvalidArgument("source \"" + ident + "\" is not an oci-layout:// identifier");
  }
  std::string_view ref = std::string_view(ident).substr(kScheme.size());
  OCILayoutIdentifier id;
  auto parsed = registry::ParseReference(ref);
  if (!parsed.ok()) return parsed.status().Annotate("source \"" + ident + "\"");
  id.ref = std::move(*parsed);
  if (id.ref.digest.empty()) {
    return InvalidArgument(
        fmt::format("source \"{}\": reference \"{}\" must have digest", ident, std::string(ref)));
  }
  for (const auto& [k, v] : op.attrs()) {
    if (k == "oci.session") id.session_id = v;
    if (k == "oci.store") id.store_id = v;
    if (k == "oci.layerlimit") {
      auto n = GoParseInt(v);
      if (!n.ok() || *n <= 0 || *n > INT32_MAX) {
        return InvalidArgument("source \"" + ident + "\": invalid layer limit " + v);
      }
      id.layer_limit = static_cast<int>(*n);
    }
  }
  if (id.store_id.empty()) {
    return InvalidArgument("source \"" + ident + "\": no oci.store attribute naming the layout");
  }
  pb::SourceOp as_image;  // the platform as a docker-image source reads it
  as_image.set_identifier("docker-image://" + id.ref.String());
  KILN_ASSIGN_OR_RETURN(ImageIdentifier image, ParseImage(as_image, platform));
  id.platform = image.platform;
  return id;
}

std::unique_ptr<LayoutStore> SessionLayoutStore(session::Manager* sessions,
                                                const OCILayoutIdentifier& id,
                                                std::vector<std::string> job_sessions) {
  return std::make_unique<SessionStore>(sessions, id.session_id, std::move(job_sessions),
                                        id.store_id);
}

Result<ResolvedImage> ResolveOCILayout(const Context& ctx, const OCILayoutIdentifier& id,
                                       LayoutStore& layout, ImageSource& images) {
  const std::string name = std::string(kScheme) + id.ref.String();
  content::Store& store = *images.store();
  registry::Descriptor root;
  root.digest = id.ref.digest;
  auto size = layout.Size(ctx, root.digest);
  if (!size.ok()) return size.status().Annotate(name + ": unable to get info about digest");
  root.size = *size;
  // Holds what is fetched here until it has been read: a prune in between would otherwise
  // remove a blob just fetched.
  content::Lease lease = store.NewLease("oci-layout-resolve");
  auto fetch = [&](const Context& c, const registry::Descriptor& d) {
    return FetchAll(c, layout, store, d, kMaxManifestBytes, name, &lease);
  };
  KILN_ASSIGN_OR_RETURN(registry::PlatformManifest pm,
                        registry::ResolvePlatformManifest(ctx, root, id.platform, fetch, name));
  ResolvedImage r;
  r.ref = id.ref;
  r.root_digest = root.digest;
  r.manifest_descriptor = std::move(pm.descriptor);
  r.manifest = std::move(pm.manifest);
  r.from_registry = false;
  KILN_ASSIGN_OR_RETURN(std::string config, FetchAll(ctx, layout, store, r.manifest.config,
                                                     kMaxConfigBytes, name, &lease));
  KILN_ASSIGN_OR_RETURN(r.config, registry::ParseImageConfig(config, name));
  if (r.config.diff_ids.size() != r.manifest.layers.size()) {
    return InvalidArgument(fmt::format(
        "{}: the image config lists {} layers (rootfs.diff_ids) but the manifest has {}", name,
        r.config.diff_ids.size(), r.manifest.layers.size()));
  }
  if (id.layer_limit) {
    size_t limit = static_cast<size_t>(*id.layer_limit);
    if (limit > r.manifest.layers.size()) {
      return InvalidArgument(
          fmt::format("layer limit {} is greater than the number of layers in the image {}", limit,
                      r.manifest.layers.size()));
    }
    r.manifest.layers.resize(limit);
    r.config.diff_ids.resize(limit);
  }
  return r;
}

Result<cache::ImmutableRef> UnpackOCILayout(const Context& ctx, const ResolvedImage& img,
                                            LayoutStore& layout, ImageSource& images,
                                            solver::VertexProgress* progress) {
  BlobFetchFn fetch = [&](const Context& c, const registry::Descriptor& d, content::Lease* lease) {
    return Fetch(c, layout, *images.store(), d, lease);
  };
  return images.UnpackWith(ctx, img, fetch, progress);
}

}  // namespace kiln::source

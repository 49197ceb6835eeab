#include "layer/layer_export.h"

#include <algorithm>
#include <memory>
#include <thread>

namespace kiln::layer {

DiffOptions DiffOptionsFor(const LayerOptions& opts) {
  DiffOptions d;
  if (opts.rewrite_timestamp && opts.source_date_epoch) d.clamp_mtime = opts.source_date_epoch;
  return d;
}

Result<LayerDescriptor> ExportTar(const Context& ctx, const TarProducer& produce,
                                  content::Store& store, const LayerOptions& opts,
                                  content::Lease* lease) {
  CompressOptions co;
  co.type = opts.compression;
  co.level = opts.compression_level;
  co.threads = opts.threads > 0
                   ? opts.threads
                   : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  co.digest_output = false;  // the content writer hashes what it stores
  KILN_ASSIGN_OR_RETURN(content::Writer writer, store.NewWriter(ctx, Digest(), -1));
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<Compressor> comp,
      NewCompressor(ctx, co, [&writer](std::string_view d) { return writer.Write(d); }));
  LayerDescriptor desc;
  KILN_ASSIGN_OR_RETURN(desc.diff, produce(comp->AsSink()));
  KILN_ASSIGN_OR_RETURN(CompressResult cr, comp->Finish());
  comp.reset();
  KILN_ASSIGN_OR_RETURN(content::Info info, writer.Commit(lease));
  if (info.size != cr.size) {
    return Internal("layer export: the store holds " + std::to_string(info.size) +
                    " bytes, the compressor wrote " + std::to_string(cr.size));
  }
  desc.media_type = LayerMediaType(opts.compression, opts.oci_mediatypes.value_or(false));
  desc.digest = info.digest;
  desc.size = info.size;
  desc.diff_id = cr.diff_id;
  desc.uncompressed_size = cr.uncompressed_size;
  return desc;
}

Result<LayerDescriptor> ExportLayer(const Context& ctx, snapshot::Snapshotter& sn,
                                    const std::string& key, const std::string& parent,
                                    content::Store& store, const LayerOptions& opts,
                                    content::Lease* lease) {
  DiffOptions dopts = DiffOptionsFor(opts);
  return ExportTar(
      ctx,
      [&](const ByteSink& sink) { return WriteSnapshotDiff(ctx, sn, key, parent, dopts, sink); },
      store, opts, lease);
}

}  // namespace kiln::layer

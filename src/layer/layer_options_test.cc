// The exporter attributes as BuildKit names and parses them, with BuildKit's error texts.

#include "layer/layer_options.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace kiln::layer {
namespace {

using Attrs = std::map<std::string, std::string>;

std::string Error(const Attrs& attrs) {
  auto r = ParseLayerOptions(attrs);
  return r.ok() ? "<ok>" : std::string(CodeName(r.status().code())) + ": " + r.status().message();
}

TEST(LayerOptionsTest, DefaultsAreGzipAtItsDefaultLevelWithTheExportersMediaTypes) {
  auto o = ParseLayerOptions({{"name", "example.com/app"}, {"push", "true"}});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->compression, Compression::kGzip);
  EXPECT_FALSE(o->compression_level.has_value());
  EXPECT_FALSE(o->force_compression);
  EXPECT_FALSE(o->oci_mediatypes.has_value());
  EXPECT_FALSE(o->rewrite_timestamp);
  EXPECT_FALSE(o->source_date_epoch.has_value());
}

TEST(LayerOptionsTest, EveryAttributeIsRead) {
  auto o = ParseLayerOptions({{"compression", "zstd"},
                              {"compression-level", "19"},
                              {"force-compression", "true"},
                              {"oci-mediatypes", "1"},
                              {"rewrite-timestamp", "True"},
                              {"source-date-epoch", "1700000000"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->compression, Compression::kZstd);
  EXPECT_EQ(o->compression_level, 19);
  EXPECT_TRUE(o->force_compression);
  EXPECT_EQ(o->oci_mediatypes, true);
  EXPECT_TRUE(o->rewrite_timestamp);
  EXPECT_EQ(o->source_date_epoch, 1700000000);
  // An empty force-compression means true; an empty source-date-epoch means none.
  o = ParseLayerOptions({{"force-compression", ""},
                         {"source-date-epoch", ""},
                         {"compression", "uncompressed"},
                         {"oci-mediatypes", "false"}});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->force_compression);
  EXPECT_FALSE(o->source_date_epoch.has_value());
  EXPECT_EQ(o->compression, Compression::kUncompressed);
  EXPECT_EQ(o->oci_mediatypes, false);
}

TEST(LayerOptionsTest, BadValuesGetBuildKitsMessages) {
  EXPECT_EQ(Error({{"compression", "lz4"}}), "InvalidArgument: unsupported compression type lz4");
  EXPECT_EQ(Error({{"compression", "estargz"}}),
            "Unimplemented: compression type estargz is not supported by kiln yet");
  EXPECT_EQ(Error({{"force-compression", "yes"}}),
            "InvalidArgument: non-bool value yes specified for force-compression: "
            "strconv.ParseBool: parsing \"yes\": invalid syntax");
  EXPECT_EQ(Error({{"compression-level", "high"}}),
            "InvalidArgument: non-integer value high specified for compression-level: "
            "strconv.ParseInt: parsing \"high\": invalid syntax");
  EXPECT_EQ(Error({{"compression-level", "99999999999999999999"}}),
            "InvalidArgument: non-integer value 99999999999999999999 specified for "
            "compression-level: strconv.ParseInt: parsing \"99999999999999999999\": value out "
            "of range");
  EXPECT_EQ(Error({{"compression-level", "12"}}),
            "InvalidArgument: gzip: invalid compression level: 12");
  EXPECT_EQ(Error({{"compression", "zstd"}, {"compression-level", "12"}}), "<ok>");
  EXPECT_EQ(Error({{"oci-mediatypes", "yes"}}),
            "InvalidArgument: non-bool value specified for oci-mediatypes: strconv.ParseBool: "
            "parsing \"yes\": invalid syntax");
  EXPECT_EQ(Error({{"oci-mediatypes", ""}}),
            "InvalidArgument: non-bool value specified for oci-mediatypes: strconv.ParseBool: "
            "parsing \"\": invalid syntax");
  EXPECT_EQ(Error({{"rewrite-timestamp", "2"}}),
            "InvalidArgument: non-bool value specified for rewrite-timestamp: "
            "strconv.ParseBool: parsing \"2\": invalid syntax");
  EXPECT_EQ(Error({{"source-date-epoch", "now"}}),
            "InvalidArgument: invalid source-date-epoch: strconv.ParseInt: parsing \"now\": "
            "invalid syntax: strconv.ParseInt: parsing \"now\": invalid syntax");
}

TEST(LayerOptionsTest, MediaTypesFollowCompressionAndOciMediatypes) {
  EXPECT_EQ(LayerMediaType(Compression::kGzip, false),
            "application/vnd.docker.image.rootfs.diff.tar.gzip");
  EXPECT_EQ(LayerMediaType(Compression::kGzip, true),
            "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_EQ(LayerMediaType(Compression::kZstd, true),
            "application/vnd.oci.image.layer.v1.tar+zstd");
  EXPECT_EQ(LayerMediaType(Compression::kZstd, false),
            "application/vnd.docker.image.rootfs.diff.tar.zstd");
  EXPECT_EQ(LayerMediaType(Compression::kUncompressed, true),
            "application/vnd.oci.image.layer.v1.tar");
  EXPECT_EQ(LayerMediaType(Compression::kUncompressed, false),
            "application/vnd.docker.image.rootfs.diff.tar");
}

}  // namespace
}  // namespace kiln::layer

// The HDF5 archive: exact round trips, NaN fill, string coordinates, dimension scales attached
// (checked with the raw H5DS API, independently of our wrappers), validation before any write,
// atomic replacement, and HDF5 errors turned into IoError without HDF5 printing its stack.
// Suites start with "io" so that `ctest -R io` selects this module.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <hdf5_hl.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "io/archive.hpp"
#include "io/sample_archive.hpp"

namespace fs = std::filesystem;
using absrep::IoError;
using namespace absrep::io;

namespace {

class ioArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("absrep_io_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// NaN-aware: a NaN hole must come back as a NaN in the same place.
void expect_same_values(const std::vector<double>& expected, const std::vector<double>& actual, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i]))
      EXPECT_TRUE(std::isnan(actual[i])) << what << "[" << i << "]";
    else
      EXPECT_EQ(expected[i], actual[i]) << what << "[" << i << "]";
  }
}

void expect_same_group(const Group& expected, const Group& actual) {
  EXPECT_EQ(expected.name, actual.name);
  EXPECT_EQ(expected.attributes, actual.attributes) << expected.name;
  ASSERT_EQ(expected.axes.size(), actual.axes.size()) << expected.name;
  for (std::size_t k = 0; k < expected.axes.size(); ++k) {
    const Axis &e = expected.axes[k], &a = actual.axes[k];
    EXPECT_EQ(e.name, a.name);  // written order, not alphabetical
    EXPECT_EQ(e.values, a.values) << e.name;
    EXPECT_EQ(e.labels, a.labels) << e.name;
    EXPECT_EQ(e.attributes, a.attributes) << e.name;
  }
  ASSERT_EQ(expected.variables.size(), actual.variables.size()) << expected.name;
  for (std::size_t k = 0; k < expected.variables.size(); ++k) {
    const Variable &e = expected.variables[k], &a = actual.variables[k];
    EXPECT_EQ(e.name, a.name);
    EXPECT_EQ(e.dims, a.dims) << e.name;
    EXPECT_EQ(e.attributes, a.attributes) << e.name;  // _FillValue is the writer's, not the caller's
    ASSERT_EQ(e.data.index(), a.data.index()) << e.name;
    if (const auto* values = std::get_if<std::vector<double>>(&e.data))
      expect_same_values(*values, std::get<std::vector<double>>(a.data), expected.name + "/" + e.name);
    else
      EXPECT_EQ(std::get<std::vector<std::uint8_t>>(e.data), std::get<std::vector<std::uint8_t>>(a.data)) << e.name;
  }
}

void expect_same_archive(const Archive& expected, const Archive& actual) {
  EXPECT_EQ(expected.attributes, actual.attributes);
  EXPECT_EQ(expected.config, actual.config);
  ASSERT_EQ(expected.runs.size(), actual.runs.size());
  for (std::size_t k = 0; k < expected.runs.size(); ++k) {
    const RunRecord &e = expected.runs[k], &a = actual.runs[k];
    EXPECT_EQ(std::tie(e.start_utc, e.end_utc, e.ranks, e.host, e.job_id, e.command_line, e.units_done),
              std::tie(a.start_utc, a.end_utc, a.ranks, a.host, a.job_id, a.command_line, a.units_done))
        << "run " << k;
  }
  ASSERT_EQ(expected.groups.size(), actual.groups.size());
  for (std::size_t k = 0; k < expected.groups.size(); ++k) expect_same_group(expected.groups[k], actual.groups[k]);
}

// Raw HDF5 access for checks that must not go through the code under test.
struct RawFile {
  explicit RawFile(const fs::path& path) : id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~RawFile() { H5Fclose(id); }
  hid_t id;
};

struct RawDataset {
  RawDataset(hid_t file, const char* path) : id(H5Dopen2(file, path, H5P_DEFAULT)) {}
  ~RawDataset() { H5Dclose(id); }
  hid_t id;
};

template <class T>
T fill_value(hid_t dataset, hid_t memtype) {
  const hid_t dcpl = H5Dget_create_plist(dataset);
  T fill{};
  H5Pget_fill_value(dcpl, memtype, &fill);
  H5Pclose(dcpl);
  return fill;
}

TEST_F(ioArchive, RoundTripKeepsEverythingInWrittenOrder) {
  const Archive original = absrep::test::sample_archive();
  write_archive(dir_ / "run.h5", original);
  expect_same_archive(original, read_archive(dir_ / "run.h5"));
}

TEST_F(ioArchive, EmptyProvenanceAndStudyRoundTrip) {
  const Archive original{.attributes = {}, .config = "", .runs = {}, .groups = {Group{.name = "theory", .axes = {}, .variables = {}, .attributes = {}}}};
  write_archive(dir_ / "empty.h5", original);
  expect_same_archive(original, read_archive(dir_ / "empty.h5"));
}

TEST_F(ioArchive, FloatVariablesFillWithNaNAndCarryFillValue) {
  write_archive(dir_ / "run.h5", absrep::test::sample_archive());
  const RawFile file(dir_ / "run.h5");
  const RawDataset ps(file.id, "/meanfield/ps"), status(file.id, "/meanfield/status");
  EXPECT_TRUE(std::isnan(fill_value<double>(ps.id, H5T_NATIVE_DOUBLE)));
  double attribute = 0;
  ASSERT_GE(H5LTget_attribute_double(file.id, "/meanfield/ps", "_FillValue", &attribute), 0);
  EXPECT_TRUE(std::isnan(attribute));
  // status: fill 0 (pending) and no _FillValue, so xarray keeps it uint8 and pending visible.
  const hid_t dcpl = H5Dget_create_plist(status.id);
  H5D_fill_value_t defined{};
  H5Pfill_value_defined(dcpl, &defined);
  H5Pclose(dcpl);
  EXPECT_EQ(defined, H5D_FILL_VALUE_USER_DEFINED);  // 0 by intent, not HDF5's default
  EXPECT_EQ(fill_value<std::uint8_t>(status.id, H5T_NATIVE_UINT8), 0);
  EXPECT_EQ(H5Aexists(status.id, "_FillValue"), 0);
  const hid_t type = H5Dget_type(status.id);
  EXPECT_EQ(H5Tget_size(type), 1u);
  EXPECT_EQ(H5Tget_sign(type), H5T_SGN_NONE);
  H5Tclose(type);
}

TEST_F(ioArchive, CoordinatesAreScalesAttachedToEveryDimensionThatUsesThem) {
  write_archive(dir_ / "run.h5", absrep::test::sample_archive());
  const RawFile file(dir_ / "run.h5");
  const RawDataset beta(file.id, "/meanfield/beta"), activation(file.id, "/meanfield/activation"),
      si(file.id, "/meanfield/sample_i"), sj(file.id, "/meanfield/sample_j"), ps(file.id, "/meanfield/ps"),
      kernel(file.id, "/meanfield/kernel"), run(file.id, "/provenance/runs/run"), host(file.id, "/provenance/runs/host");
  for (hid_t scale : {beta.id, activation.id, si.id, sj.id, run.id}) EXPECT_GT(H5DSis_scale(scale), 0);
  EXPECT_EQ(H5DSis_scale(ps.id), 0);
  EXPECT_GT(H5DSis_attached(ps.id, beta.id, 0), 0);
  EXPECT_GT(H5DSis_attached(ps.id, activation.id, 1), 0);
  EXPECT_EQ(H5DSis_attached(ps.id, activation.id, 0), 0);
  EXPECT_GT(H5DSis_attached(kernel.id, beta.id, 0), 0);
  EXPECT_GT(H5DSis_attached(kernel.id, activation.id, 1), 0);
  EXPECT_GT(H5DSis_attached(kernel.id, si.id, 2), 0);
  EXPECT_GT(H5DSis_attached(kernel.id, sj.id, 3), 0);
  EXPECT_GT(H5DSis_attached(host.id, run.id, 0), 0);
  // The string coordinate is variable-length UTF-8, which h5py and h5netcdf read as str.
  const hid_t type = H5Dget_type(activation.id);
  EXPECT_GT(H5Tis_variable_str(type), 0);
  EXPECT_EQ(H5Tget_cset(type), H5T_CSET_UTF8);
  H5Tclose(type);
}

TEST_F(ioArchive, InvalidModelsAreRejectedBeforeAnythingIsWritten) {
  using Mutate = void (*)(Archive&);
  const std::vector<std::pair<const char*, Mutate>> cases{
      {"unknown dim", [](Archive& a) { a.groups[0].variables[0].dims[1] = "gamma"; }},
      {"short data", [](Archive& a) { std::get<std::vector<double>>(a.groups[0].variables[0].data).pop_back(); }},
      {"reserved attribute", [](Archive& a) { a.groups[0].variables[0].attributes["_FillValue"] = 0.0; }},
      {"reserved group", [](Archive& a) { a.groups[1].name = "provenance"; }},
      {"duplicate group", [](Archive& a) { a.groups[1].name = "meanfield"; }},
      {"variable named like an axis", [](Archive& a) { a.groups[0].variables[0].name = "beta"; }},
      {"slash in a name", [](Archive& a) { a.groups[0].axes[0].name = "a/b"; }},
      {"values and labels", [](Archive& a) { a.groups[0].axes[1].values = {1.0, 2.0, 3.0}; }},
  };
  for (const auto& [what, mutate] : cases) {
    Archive archive = absrep::test::sample_archive();
    mutate(archive);
    EXPECT_THROW(write_archive(dir_ / "bad.h5", archive), IoError) << what;
    EXPECT_THROW(write_archive_atomic(dir_ / "bad.h5", archive), IoError) << what;
    EXPECT_FALSE(fs::exists(dir_ / "bad.h5")) << what;
    EXPECT_FALSE(fs::exists(dir_ / "bad.h5.tmp")) << what;
  }
}

TEST_F(ioArchive, HDF5ErrorsAreQuietIoErrorsNamingTheFile) {
  std::ofstream(dir_ / "not_hdf5.h5") << "plain text";
  for (const fs::path& path : {dir_ / "missing.h5", dir_ / "not_hdf5.h5"}) {
    ::testing::internal::CaptureStderr();
    try {
      read_archive(path);
      ADD_FAILURE() << "read_archive(" << path << ") did not throw";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "HDF5 printed its error stack";
  }
}

TEST_F(ioArchive, AtomicWriteReplacesTheOldArchiveOrLeavesIt) {
  const fs::path path = dir_ / "run.h5";
  Archive old_archive = absrep::test::sample_archive();
  old_archive.config = "old";
  write_archive_atomic(path, old_archive);
  EXPECT_EQ(read_archive(path).config, "old");

  // A crash while the next snapshot was written leaves a torn temporary file beside it.
  std::ofstream(path.string() + ".tmp") << "torn snapshot";
  EXPECT_EQ(read_archive(path).config, "old");

  // The next snapshot overwrites the torn temporary and replaces the archive whole.
  const Archive new_archive = absrep::test::sample_archive();
  write_archive_atomic(path, new_archive);
  expect_same_archive(new_archive, read_archive(path));
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

  // A snapshot that fails (here: the temporary cannot be created) leaves the archive as it was.
  fs::create_directories(path.string() + ".tmp/blocker");
  EXPECT_THROW(write_archive_atomic(path, old_archive), IoError);
  expect_same_archive(new_archive, read_archive(path));
}

}  // namespace

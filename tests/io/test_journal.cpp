// The journal: records come back exactly, and a crash at any byte of an append (a torn or
// corrupt tail) costs only that record: replay stops before it and reopening cuts it off.
// Suites start with "io" so that `ctest -R io` selects this module.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "io/journal.hpp"

namespace fs = std::filesystem;
using absrep::IoError;
using absrep::io::Journal;

namespace {

class ioJournal : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("absrep_journal_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "run.journal";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `records` to a fresh journal and returns the file's bytes and each record's end offset.
  std::string write(const std::vector<std::string>& records, std::vector<std::size_t>* ends = nullptr) {
    fs::remove(path_);
    Journal journal = Journal::open(path_);
    for (const std::string& r : records) {
      journal.append(r);
      if (ends != nullptr) ends->push_back(fs::file_size(path_));
    }
    journal.sync();
    return bytes();
  }
  std::string bytes() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void overwrite(const std::string& content) const { std::ofstream(path_, std::ios::binary) << content; }

  fs::path dir_, path_;
};

const std::vector<std::string> kRecords{
    nlohmann::json{{"point", 0}, {"replicate", 1}, {"ps", 0.25}}.dump(),
    std::string("bin\0ary\xff\x01", 9),
    "",
    std::string(300, 'x'),
};

TEST_F(ioJournal, RecordsReplayExactlyAcrossReopens) {
  {
    Journal journal = Journal::open(path_);
    journal.append(kRecords[0]);
    journal.append(kRecords[1]);
    journal.sync();
  }
  EXPECT_EQ(Journal::replay(path_), std::vector<std::string>(kRecords.begin(), kRecords.begin() + 2));
  {
    Journal journal = Journal::open(path_);  // appends, keeps what is there
    journal.append(kRecords[2]);
    journal.append(kRecords[3]);
  }
  EXPECT_EQ(Journal::replay(path_), kRecords);
  EXPECT_EQ(nlohmann::json::parse(Journal::replay(path_)[0])["ps"], 0.25);
}

TEST_F(ioJournal, MissingFileHasNoRecords) { EXPECT_TRUE(Journal::replay(dir_ / "absent.journal").empty()); }

// A crash can stop an append after any byte: every prefix of the file must replay as the records
// that were complete, and reopening must cut the rest so that the next append follows them.
TEST_F(ioJournal, EveryTornTailStopsAtTheLastCompleteRecord) {
  std::vector<std::size_t> ends;
  const std::string full = write(kRecords, &ends);
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    overwrite(full.substr(0, cut));
    const auto complete = static_cast<std::size_t>(std::count_if(ends.begin(), ends.end(), [&](std::size_t e) { return e <= cut; }));
    const std::vector<std::string> expected(kRecords.begin(), kRecords.begin() + static_cast<std::ptrdiff_t>(complete));
    ASSERT_EQ(Journal::replay(path_), expected) << "cut at byte " << cut;
    {
      Journal journal = Journal::open(path_);
      ASSERT_EQ(fs::file_size(path_), complete == 0 ? 8 : ends[complete - 1]) << "cut at byte " << cut;
      journal.append("after");
    }
    std::vector<std::string> resumed = expected;
    resumed.push_back("after");
    ASSERT_EQ(Journal::replay(path_), resumed) << "cut at byte " << cut;
  }
}

// Garbage instead of a clean cut: flipping any byte of the last record (its length, its CRC or
// its payload) loses that record and nothing before it.
TEST_F(ioJournal, EveryCorruptByteOfTheLastRecordIsDetected) {
  std::vector<std::size_t> ends;
  const std::string full = write(kRecords, &ends);
  const std::vector<std::string> intact(kRecords.begin(), kRecords.end() - 1);
  for (std::size_t at = ends[ends.size() - 2]; at < full.size(); ++at) {
    std::string corrupt = full;
    corrupt[at] = static_cast<char>(corrupt[at] ^ 0x5a);
    overwrite(corrupt);
    ASSERT_EQ(Journal::replay(path_), intact) << "byte " << at;
  }
  Journal::open(path_);
  EXPECT_EQ(fs::file_size(path_), ends[ends.size() - 2]);
}

TEST_F(ioJournal, HalfRecordsOfGarbageAreCutOnReopen) {
  std::vector<std::size_t> ends;
  const std::string full = write({kRecords[0], kRecords[1]}, &ends);
  // A length that promises more than the file holds, then a few stray bytes.
  overwrite(full + std::string("\x64\x00\x00\x00\xde\xad\xbe\xef", 8) + "half");
  EXPECT_EQ(Journal::replay(path_), (std::vector<std::string>{kRecords[0], kRecords[1]}));
  {
    Journal journal = Journal::open(path_);
    EXPECT_EQ(fs::file_size(path_), ends.back());
    journal.append(kRecords[3]);
  }
  EXPECT_EQ(Journal::replay(path_), (std::vector<std::string>{kRecords[0], kRecords[1], kRecords[3]}));
}

TEST_F(ioJournal, RefusesFilesThatAreNotJournals) {
  overwrite("not a journal at all");
  EXPECT_THROW(Journal::replay(path_), IoError);
  EXPECT_THROW(Journal::open(path_), IoError);
  EXPECT_EQ(bytes(), "not a journal at all");  // untouched
}

TEST_F(ioJournal, SecondWriterIsRefusedWhileTheFirstHoldsIt) {
  {
    Journal first = Journal::open(path_);
    EXPECT_THROW(Journal::open(path_), IoError);
  }
  EXPECT_NO_THROW(Journal::open(path_));
}

}  // namespace

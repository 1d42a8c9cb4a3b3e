// Study configuration files (YAML; the schema of DESIGN.md, "Config schema").
//
// A point key holds a scalar (fixed), or an axis: a list, {linspace: [a, b, n]} or
// {geomspace: [a, b, n]}. Unknown keys are errors. Every error is a ConfigError whose message
// starts "FILE:LINE:COLUMN: field: ..." and lists the allowed values where there is a choice;
// every grid point is checked before anything runs, so a bad config writes nothing.
#pragma once
#include <filesystem>
#include <string>

#include "study/grid.hpp"

namespace absrep::io {

struct LoadedConfig {
  StudySpec spec;
  std::string text;    // the file, verbatim (stored in the archive)
  std::string sha256;  // of the text: resume refuses a different config
};

LoadedConfig load_config(const std::filesystem::path& path);
LoadedConfig parse_config(const std::string& text, const std::string& name);  // name: for messages

}  // namespace absrep::io

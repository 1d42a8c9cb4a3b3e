// A solver Report as JSON (the `--json` fields of the CLI contract, DESIGN.md).
#pragma once
#include <nlohmann/json.hpp>

#include "study/point.hpp"

namespace absrep::io {

nlohmann::json to_json(const Report& report, bool include_kernel = true);
nlohmann::json matrix_to_json(const Eigen::MatrixXd& M);  // row-major nested lists

}  // namespace absrep::io

// Graceful stops (GROMACS-style): SIGTERM, SIGINT and SIGUSR1 (Slurm's --signal warning) set a
// flag; the scheduler stops handing out work at the next safe point, flushes, and exits 143.
#pragma once

namespace absrep::cli {

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked, 0 if none

}  // namespace absrep::cli

# Smoke run of absrep_peer (ctest bench_peer_driver_smoke): every mode once on a tiny problem.
# Checks that each mode exits 0 and prints a JSON object; never looks at a timing.
file(MAKE_DIRECTORY ${OUT})
set(problem --labels 3 --width 16 --seed 1)
foreach(mode IN ITEMS "export;--out;${OUT}" "time;--optimizer;gd;--lr;1e-3;--iters;3;--repeats;1"
                      "time;--optimizer;adam;--lr;1e-3;--iters;3;--repeats;1"
                      "time;--optimizer;lbfgs;--iters;3;--repeats;1" "solve;--repeats;1" "meanfield;--repeats;1")
  list(GET mode 0 name)
  list(SUBLIST mode 1 -1 rest)
  execute_process(COMMAND ${PEER} ${name} ${problem} ${rest} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "^{.*}")
    message(FATAL_ERROR "absrep_peer ${name} failed (${rc}): ${out} ${err}")
  endif()
  message(STATUS "${name}: ${out}")
endforeach()
foreach(f Xa.npy Y.npy theta0.npy)
  if(NOT EXISTS ${OUT}/${f})
    message(FATAL_ERROR "absrep_peer export did not write ${f}")
  endif()
endforeach()

# kiln_module(NAME name SOURCES ... DEPS ...): one static library per folder under src/,
# namespace kiln::<name>. DEPS may only name modules above it in docs/dev/architecture.md;
# scripts/check-layering.py enforces that.
function(kiln_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(kiln_${M_NAME} STATIC ${M_SOURCES})
  target_include_directories(kiln_${M_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(kiln_${M_NAME} PRIVATE ${KILN_WARNINGS})
  target_link_libraries(kiln_${M_NAME} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_DEPS})
endfunction()

# kiln_test(NAME name SOURCES ... DEPS ...): one GoogleTest binary per module.
function(kiln_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_compile_options(${T_NAME} PRIVATE ${KILN_WARNINGS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  else()
    set_tests_properties(${T_NAME} PROPERTIES LABELS unit)
  endif()
endfunction()

# keel_add_plugin(<target> KIND <index|retention|partitioner|transport>
#                 NAME <strategy-name> SOURCES <files...>
#                 [OUTPUT_DIRECTORY <dir>])
#
# Builds a Keel plugin: a shared module named keel-<kind>-<name>.so, which is
# the file name the broker looks for when a config names that strategy. Only
# the entry symbol (exported by KEEL_PLUGIN) is visible.
#
# Configure with -DKEEL_TARGET_ABI_MINOR=<n> to build every plugin for ABI
# 2.<n> (an older broker): see "Building for an older broker" in plugin.h.
function(keel_add_plugin target)
  cmake_parse_arguments(P "" "KIND;NAME;OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT P_KIND OR NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "keel_add_plugin(${target}): KIND, NAME and SOURCES are required")
  endif()
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE Keel::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "keel-${P_KIND}-${P_NAME}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED KEEL_TARGET_ABI_MINOR AND NOT KEEL_TARGET_ABI_MINOR STREQUAL "")
    target_compile_definitions(${target} PRIVATE KEEL_TARGET_ABI_MINOR=${KEEL_TARGET_ABI_MINOR})
  endif()
  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY})
  endif()
endfunction()

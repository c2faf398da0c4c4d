/*
 * pipes_version.h - the one place the product version is written.
 *
 * Everything else reads it from here: pipes_version(), the VERSIONINFO
 * resources of every binary, CMake's project() version, the MSI's
 * ProductVersion and its file name (build.sh and build.ps1 parse the three
 * numbers below). A build may override the version for testing upgrades by
 * defining PIPES_VERSION_MAJOR/MINOR/PATCH on the compiler command line;
 * the defaults below apply otherwise.
 */
#ifndef PIPES_VERSION_H
#define PIPES_VERSION_H

#ifndef PIPES_VERSION_MAJOR
#define PIPES_VERSION_MAJOR 1
#endif
#ifndef PIPES_VERSION_MINOR
#define PIPES_VERSION_MINOR 0
#endif
#ifndef PIPES_VERSION_PATCH
#define PIPES_VERSION_PATCH 0
#endif

#define PIPES_STRINGIFY_(x) #x
#define PIPES_STRINGIFY(x) PIPES_STRINGIFY_(x)

/* "1.0.0": for version resources and logs. */
#define PIPES_VERSION_STRING                                                   \
    PIPES_STRINGIFY(PIPES_VERSION_MAJOR)                                       \
    "." PIPES_STRINGIFY(PIPES_VERSION_MINOR) "." PIPES_STRINGIFY(PIPES_VERSION_PATCH)

/* 0x00MMmmpp: comparable as an integer. */
#define PIPES_VERSION_NUMBER                                                   \
    ((PIPES_VERSION_MAJOR << 16) | (PIPES_VERSION_MINOR << 8) | PIPES_VERSION_PATCH)

#endif /* PIPES_VERSION_H */

// Re-exports libarchive for Swift, plus the cast macros Swift cannot import.
#ifndef AIRLOCK_CARCHIVE_SHIM_H
#define AIRLOCK_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

static const unsigned int CArchive_AE_IFREG = AE_IFREG;
static const unsigned int CArchive_AE_IFMT = AE_IFMT;
static const unsigned int CArchive_AE_IFDIR = AE_IFDIR;
static const unsigned int CArchive_AE_IFLNK = AE_IFLNK;
static const unsigned int CArchive_AE_IFCHR = AE_IFCHR;
static const unsigned int CArchive_AE_IFBLK = AE_IFBLK;
static const unsigned int CArchive_AE_IFIFO = AE_IFIFO;
static const unsigned int CArchive_AE_IFSOCK = AE_IFSOCK;
#endif

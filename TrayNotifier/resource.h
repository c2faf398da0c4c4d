/*
 * resource.h - resource ids shared by TrayNotifier.rc and the C sources.
 * Plain #defines only: windres and rc.exe read this file too.
 */
#ifndef TRAY_RESOURCE_H
#define TRAY_RESOURCE_H

/* Icons. IDI_APP is the first icon resource, so Explorer uses it for the exe. */
#define IDI_APP 101
#define IDI_LEVEL_INFO 102
#define IDI_LEVEL_WARNING 103
#define IDI_LEVEL_ERROR 104

/* The tray icon's context menu. */
#define IDR_TRAYMENU 201
#define IDM_HISTORY 202
#define IDM_PAUSE 203
#define IDM_OPEN_FOLDER 204
#define IDM_ABOUT 205
#define IDM_EXIT 206

/* History window controls. */
#define IDC_HISTORY_LIST 301
#define IDC_HISTORY_COPY 302
#define IDC_HISTORY_CLOSE 303
#define IDA_HISTORY 304 /* accelerators of the history window */

/* Strings. */
#define IDS_APP_TITLE 1001
#define IDS_TIP_UNREAD 1002       /* %1!u! = unread count */
#define IDS_TIP_PAUSED 1003       /* %1!u! = unread count */
#define IDS_MORE 1004             /* %1!u! = how many more */
#define IDS_PAUSED_TITLE 1005     /* %1!u! = how many arrived while paused */
#define IDS_PAUSED_LATEST 1006    /* %1 = the latest title */
#define IDS_ABOUT 1007            /* %1 = app version, %2 = pipes.dll version, %3 = pipe, %4 = data folder */
#define IDS_USAGE 1008
#define IDS_ERR_START 1009        /* %1 = pipe name, %2 = reason */
#define IDS_ERR_USAGE 1010        /* %1 = the bad argument */
#define IDS_HISTORY_TITLE 1011
#define IDS_COL_TIME 1012
#define IDS_COL_LEVEL 1013
#define IDS_COL_SOURCE 1014
#define IDS_COL_TITLE 1015
#define IDS_COL_BODY 1016
#define IDS_LEVEL_INFO 1017
#define IDS_LEVEL_WARNING 1018
#define IDS_LEVEL_ERROR 1019
#define IDS_COPY 1020
#define IDS_CLOSE 1021
#define IDS_ERR_HISTORY 1022      /* %1 = file kept aside */
#define IDS_ERR_WINDOW 1023
#define IDS_HOLDER 1024           /* %1!u! = process id, %2 = its image file name */
#define IDS_HOLDER_UNKNOWN 1025
#define IDS_TIP_HELD 1026         /* %1 = IDS_HOLDER text */
#define IDS_HELD_TITLE 1027
#define IDS_HELD_TEXT 1028        /* %1 = pipe name, %2 = IDS_HOLDER text */
#define IDS_TAKEN_TEXT 1029       /* %1 = pipe name */

#endif /* TRAY_RESOURCE_H */

/** The Data Lake's JupyterLab notifications: problems, request failures, transfers. */
export * from './problems';
export * from './transfers';

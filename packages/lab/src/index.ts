export * from './scenario-model';
export * from './loader';
export * from './lab';
export * from './compose';
export * from './outcomes';
export * from './assertions';
export * from './runner';

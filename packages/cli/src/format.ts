// Console formatting moved to @relaylab/report (the `pretty` reporter); kept here for callers of the old path.
export { formatResult, summaryLine } from '@relaylab/report';

import { LabIcon } from '@jupyterlab/ui-components';

import dataLakeSvg from '../style/icons/data-lake.svg';

/** Icon of the Data Lake panel and settings; themed through the jp-icon3 class. */
export const dataLakeIcon = new LabIcon({
  name: 'escape-dlaas:data-lake',
  svgstr: dataLakeSvg
});
